// The listening socket in front of the HTTPS server: a connection whose first byte starts a TLS
// handshake goes to the HTTPS server; anything else (plain HTTP sent to the TLS port) gets a short
// plain-text 400 that says to use https://, and is closed. No data is served without TLS.
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Server as HttpsServer } from 'node:https';

/** TLS record type 22: handshake. Every TLS connection starts with one. */
const TLS_HANDSHAKE = 0x16;

const PLAIN_HTTP_REPLY =
  'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n' +
  'This port speaks HTTPS only: use https:// (and trust the CA from `ampule ca export`).\n';

export function httpsOnlyListener(https: HttpsServer, firstByteTimeoutMs: number): NetServer {
  return createServer((socket: Socket) => {
    socket.on('error', () => {});
    socket.setTimeout(firstByteTimeoutMs, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      if (first[0] === TLS_HANDSHAKE) {
        // The TLS socket reads what is buffered on `socket` before its handle.
        socket.unshift(first);
        https.emit('connection', socket);
        return;
      }
      socket.end(PLAIN_HTTP_REPLY);
    });
  });
}
