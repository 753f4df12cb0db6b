/**
 * Chapter 9: the clerk, a client's side of the key-value service.
 *
 * A client calls put, append or get through its clerk, and the clerk does
 * the rest: it sends the request to the server it believes leads, goes
 * where a refusal points (its leaderId), moves on when a server says
 * nothing for too long, and sends the very same request, with the same
 * sequence number, until some leader answers it. The servers' sessions
 * make that safe: a request they already applied is answered again,
 * never applied twice.
 *
 * A clerk never acts itself. The world keeps its state (plain data) and
 * calls these functions with it; each returns the clerk's new state and
 * what the world should do: send a request, (re)start the retry timer, or
 * give the client its result. So a clerk is a pure function of its state
 * and what happened, and a test can call it directly.
 *
 * Chapter 8 built it; here it is given whole, and nothing in it changes:
 * snapshots are the servers' business, invisible to the clients.
 */
import type { ClerkStep, ClientCall, ClientId, ClientReply, ClientRequest, NodeId } from "../../world/contract.ts";

/** How long to wait for an answer before trying the next server. */
export const RETRY_AFTER_MS = 200;
/** How long to pause after a refusal that names no leader (an election is on): no point asking again at once. */
export const PAUSE_AFTER_REFUSAL_MS = 20;

/** A clerk's state: plain data, so the world can keep it between calls. */
export interface Clerk {
  readonly clientId: ClientId;
  readonly servers: readonly NodeId[];
  /** The server this clerk believes leads (it asks there first). */
  readonly leader: NodeId;
  /** The sequence number of its latest request: 0 before the first. */
  readonly sequence: number;
  /** The request of the call in progress, until it is answered. */
  readonly pending: ClientRequest | null;
}

/** A new clerk: no request made yet, and a first guess at the leader. */
export function newClerk(clientId: ClientId, servers: readonly NodeId[]): Clerk {
  return { clientId, servers: [...servers], leader: servers[0]!, sequence: 0, pending: null };
}

/** The client calls an operation: a new request, with the next sequence number. */
export function clerkCall(clerk: Clerk, call: ClientCall): ClerkStep<Clerk> {
  const request: ClientRequest = { type: "ClientRequest", clientId: clerk.clientId, sequence: clerk.sequence + 1, operation: call.operation, key: call.key, value: call.value };
  return { clerk: { ...clerk, sequence: request.sequence, pending: request }, send: { to: clerk.leader, request }, retryAfterMs: RETRY_AFTER_MS };
}

/** A server answered. */
export function clerkReceive(clerk: Clerk, from: NodeId, reply: ClientReply): ClerkStep<Clerk> {
  // A late answer to an earlier request, or a second copy of one: the call it answers is over.
  const pending = clerk.pending;
  if (pending === null || reply.sequence !== pending.sequence) return { clerk };
  if (reply.success) return { clerk: { ...clerk, leader: from, pending: null }, result: reply.value };
  // Refused. A server that names another leader: ask it now, the same request.
  if (reply.leaderId !== null && reply.leaderId !== from) {
    return { clerk: { ...clerk, leader: reply.leaderId }, send: { to: reply.leaderId, request: pending }, retryAfterMs: RETRY_AFTER_MS };
  }
  // No leader known (an election is on, or this one just lost its place):
  // pause a moment, then the timer moves on to the next server.
  return { clerk: { ...clerk, leader: from }, retryAfterMs: PAUSE_AFTER_REFUSAL_MS };
}

/** The retry timer fired: no answer in time. Try the next server, with the same request. */
export function clerkTimeout(clerk: Clerk): ClerkStep<Clerk> {
  const pending = clerk.pending;
  if (pending === null) return { clerk };
  const next = clerk.servers[(clerk.servers.indexOf(clerk.leader) + 1) % clerk.servers.length]!;
  return { clerk: { ...clerk, leader: next }, send: { to: next, request: pending }, retryAfterMs: RETRY_AFTER_MS };
}
