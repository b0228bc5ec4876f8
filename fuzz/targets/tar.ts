/**
 * @module fuzz/targets/tar
 * The layer tar reader (src/engine/layer/tar-reader.ts, what load, import,
 * build contexts and cp read tars with): any bytes either read as entries or
 * fail with an InvalidLayerError, however the input is cut into chunks, and
 * nothing is buffered past Go's 1 MiB cap on metadata.
 */
import { Readable } from 'node:stream';
import { InvalidLayerError, LayerEscapeError } from '../../src/engine/layer/errors.js';
import { TarReader } from '../../src/engine/layer/tar-reader.js';

export const maxLen = 64 << 10;
export const dictionary = ['ustar\x0000', 'ustar  \x00', '././@LongLink', 'path=', 'linkpath=', 'size=', 'mtime=', 'SCHILY.xattr.', 'GNU.sparse.', '0000644\x00', '77777777777', '\x80\x00\x00\x00', '\xff\xff\xff\xff', '30 ', '\n'];

export async function fuzz(data: Buffer): Promise<void> {
  // The first byte picks the chunk size, so block and record boundaries fall anywhere.
  const step = data.length ? 1 + (data[0]! % 61) * 17 : 1;
  const body = data.subarray(1);
  const chunks: Buffer[] = [];
  for (let i = 0; i < body.length; i += step) chunks.push(body.subarray(i, i + step));
  const reader = new TarReader(Readable.from(chunks));
  try {
    for (;;) {
      const e = await reader.next();
      if (!e) break;
      if (e.size < 0 || !Number.isFinite(e.size)) throw new Error(`entry ${e.name} has size ${e.size}`);
      let got = 0;
      for (let b = await reader.read(); b; b = await reader.read()) got += b.length;
      if (got !== e.size) throw new Error(`entry ${JSON.stringify(e.name)} read ${got} bytes of ${e.size}`);
    }
  } catch (err) {
    if (err instanceof InvalidLayerError || err instanceof LayerEscapeError) return;
    throw err;
  } finally {
    reader.destroy();
  }
}
