/**
 * berthd on TCP with TLS (--tlsverify): the docker CLI connects with a client
 * certificate signed by the CA; without one the handshake fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import net from 'node:net';
import { promises as fsp } from 'node:fs';
import { docker, startDaemon } from './helpers/daemon.js';

const sh = promisify(execFile);

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A CA, a server cert for 127.0.0.1 and a client cert, made with openssl. */
async function makeCerts(dir: string): Promise<void> {
  const o = (args: string[]) => sh('openssl', args, { cwd: dir });
  await o(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=berth-test-ca']);
  await o(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  await fsp.writeFile(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await o(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert-server.pem', '-days', '1', '-extfile', 'server.ext']);
  await o(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'client.csr', '-subj', '/CN=client']);
  await fsp.writeFile(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  await o(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert.pem', '-days', '1', '-extfile', 'client.ext']);
}

test('--tlsverify on tcp://127.0.0.1 serves the docker CLI with a client certificate, and refuses without one', async (t) => {
  const certDir = await fsp.mkdtemp('/tmp/bt-tls-');
  t.after(() => fsp.rm(certDir, { recursive: true, force: true }));
  await makeCerts(certDir);
  const port = await freePort();
  const d = await startDaemon([
    '-H', `tcp://127.0.0.1:${port}`,
    '--tlsverify', '--tlscacert', path.join(certDir, 'ca.pem'),
    '--tlscert', path.join(certDir, 'cert-server.pem'), '--tlskey', path.join(certDir, 'server-key.pem'),
  ]);
  t.after(() => d.cleanup());
  const tcp = { host: `tcp://127.0.0.1:${port}` };
  const ok = await docker(tcp, ['version', '--format', '{{.Server.Os}}'], { env: { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), 'linux');
  const noCert = await docker(tcp, ['version', '--format', '{{.Server.Os}}'], { env: { DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' } });
  assert.notEqual(noCert.code, 0);
});
