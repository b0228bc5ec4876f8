/** berthd's log lines, in dockerd's logfmt style: time="…" level=info msg="…". */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(debug: boolean): Logger {
  const line = (level: string, msg: string) =>
    process.stderr.write(`time="${new Date().toISOString()}" level=${level} msg=${JSON.stringify(msg)}\n`);
  return {
    debug: (m) => debug && line('debug', m),
    info: (m) => line('info', m),
    warn: (m) => line('warning', m),
    error: (m) => line('error', m),
  };
}
