/**
 * Exec endpoints (`docker exec`): create a session in a running container,
 * start it attached (a hijacked stream) or detached, resize its TTY, and
 * inspect it for the exit code — the requests the Go client sends.
 */
import { pathSegment, type EngineClient, type HijackedStream } from './client.js';
import type { ExecCreateBody, ExecInspectResponse, ExecStartConfig } from '../common/api/index.js';

/** POST /containers/{id}/exec; returns the new session's ID. */
export async function createExec(client: EngineClient, container: string, body: ExecCreateBody): Promise<string> {
  const res = await client.json<{ Id?: string }>('POST', `/containers/${pathSegment(container)}/exec`, { json: body });
  if (!res?.Id) throw new Error('exec ID empty');
  return res.Id;
}

export interface ExecStartOptions {
  tty: boolean;
  /** [height, width]; sent only with a TTY, as the Go client does. */
  consoleSize?: [number, number];
}

function startBody(detach: boolean, o: ExecStartOptions): ExecStartConfig {
  return { Detach: detach, Tty: o.tty, ...(o.consoleSize ? { ConsoleSize: o.consoleSize } : {}) };
}

/** POST /exec/{id}/start, upgraded: the process's stdio both ways (stdcopy frames unless Tty). */
export function startExecAttached(client: EngineClient, id: string, o: ExecStartOptions): Promise<HijackedStream> {
  return client.hijack('POST', `/exec/${pathSegment(id)}/start`, { json: startBody(false, o) });
}

/** POST /exec/{id}/start with Detach: the process runs on its own; nothing to read. */
export async function startExecDetached(client: EngineClient, id: string, o: ExecStartOptions): Promise<void> {
  await client.call('POST', `/exec/${pathSegment(id)}/start`, { json: startBody(true, o) });
}

export async function resizeExec(client: EngineClient, id: string, height: number, width: number): Promise<void> {
  await client.call('POST', `/exec/${pathSegment(id)}/resize`, { query: { h: height, w: width } });
}

export function inspectExec(client: EngineClient, id: string): Promise<ExecInspectResponse> {
  return client.json('GET', `/exec/${pathSegment(id)}/json`);
}
