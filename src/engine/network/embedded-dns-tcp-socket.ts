/**
 * @module engine/network/embedded-dns-tcp-socket
 * Run by ./embedded-dns-tcp.ts inside a container's network namespace
 * (`nsenter --net=…`), with an IPC channel to berthd: opens the TCP
 * listener on 127.0.0.11:53 and a UDP socket there, hands both to berthd
 * and exits. A socket stays in the namespace it was made in, whoever holds
 * it, so berthd then serves the container's TCP queries from its own
 * process without a process per container. It never outlives the channel.
 */
import dgram from 'node:dgram';
import net from 'node:net';

const host = process.argv[2] ?? '127.0.0.11';

function fail(err: Error): never {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}

// berthd gone before it took both sockets (killed, say, right after a container start): the
// listener would keep this process, and with it the container's namespace and veth, alive for
// good. The channel's end is not enough to go by (a send with a handle in flight can leave it
// closed without a 'disconnect'), so orphaning is watched too (nsenter execs, berthd is the
// parent), and nothing here takes seconds.
const parent = process.ppid;
process.on('disconnect', () => process.exit(1));
setInterval(() => process.ppid !== parent && process.exit(1), 100).unref();
setTimeout(() => process.exit(1), 5000).unref();
if (!process.connected) process.exit(1);

const server = net.createServer();
server.once('error', fail);
server.listen({ host, port: 53, exclusive: true }, () => {
  const udp = dgram.createSocket('udp4');
  udp.once('error', fail);
  udp.bind(0, '0.0.0.0', () => {
    process.send!('server', server, () => process.send!('udp', udp, () => process.exit(0)));
  });
});
