// The API's connections before their first request: capped in total and per source address and given a
// deadline (Admission, shared with the gateway). node's own timeouts bound the TLS handshake and each
// request; this bounds the connection that never gets as far as a request, or trickles one byte at a time.
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Admission, connectionKey, type AdmissionLimits, type AdmissionTicket } from '../gateway/index.js';

export function admitConnections(server: HttpsServer, limits: AdmissionLimits): Admission {
  const admission = new Admission(limits);
  // The raw socket and the TLS socket on it share the four-tuple; the request only shows the TLS socket.
  const tickets = new Map<string, AdmissionTicket>();
  // Ahead of the TLS server's own listener: a socket refused here is destroyed before any handshake work.
  server.prependListener('connection', (raw: Socket) => {
    const ticket = admission.admit(raw.remoteAddress, () => raw.destroy());
    if (!ticket) {
      raw.destroy();
      return;
    }
    const peer = connectionKey(raw);
    tickets.set(peer, ticket);
    raw.once('close', () => {
      tickets.delete(peer);
      ticket.release();
    });
  });
  server.on('request', (req: { socket: Socket }) => {
    const peer = connectionKey(req.socket);
    const ticket = tickets.get(peer);
    if (!ticket) return;
    tickets.delete(peer);
    ticket.release();
  });
  return admission;
}
