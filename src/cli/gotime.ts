/**
 * Go's time formatting where docker prints times: time.Time.String()
 * ("2006-01-02 15:04:05 -0700 MST", the CreatedAt columns) and time.ANSIC
 * ("Mon Jan _2 15:04:05 2006", docker version's "Built"), in local time.
 */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** "-0700" style offset of the local zone at `d`. */
function zoneOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${sign}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
}

/** The zone abbreviation Go prints ("UTC", "CET"); Go falls back to "+0530"-style names too. */
function zoneName(d: Date): string {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!tz || tz === 'UTC' || tz === 'Etc/UTC') return 'UTC';
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value;
  if (!part || /^GMT[+-]/.test(part)) return zoneOffset(d).replace(/00$/, '');
  return part === 'GMT' && d.getTimezoneOffset() === 0 ? 'GMT' : part;
}

/** time.Unix(sec, 0).String(), e.g. "2026-11-22 06:15:27 +0000 UTC". */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zoneOffset(d)} ${zoneName(d)}`
  );
}

/** time.ANSIC, e.g. "Sun Nov 22 06:13:27 2026". */
export function ansic(d: Date): string {
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${d.getFullYear()}`;
}
