// A minimal client of serf's RPC protocol (msgpack over TCP), used only for what the CLI cannot
// do cheaply: reading the network coordinates of many nodes over one connection
// (`serf rtt` would be one process per pair). Protocol: the client sends a msgpack header
// {Command, Seq} followed by a body; the agent answers {Seq, Error} followed by a body for
// commands that have one. One long-lived connection, requests pipelined, answers matched by Seq.
import net from 'node:net';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import { toCoordinate, type Coordinate } from './coordinates.js';

export type { Coordinate } from './coordinates.js';

/** Opens the TCP connection; tests may route it elsewhere (e.g. into a network namespace). */
export type Connector = (host: string, port: number) => net.Socket;

interface Pending {
  body: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

// Errors the agent sends without a body, whatever the command
const NO_BODY_ERRORS = new Set(['Handshake required', 'Authentication required', 'Unsupported command']);

export class SerfRpcError extends Error {}

export function parseRpcAddress(address: string): { host: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(address);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new SerfRpcError(`invalid RPC address ${address}`);
  return { host: m[1]!, port: Number(m[2]) };
}

export class SerfRpcClient {
  private socket?: net.Socket;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private opening?: Promise<void>;

  constructor(private readonly options: { address: string; authKey?: string; connect?: Connector; timeoutMs?: number }) {}

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 5000;
  }

  private ensureOpen(): Promise<void> {
    this.opening ??= this.open().catch((error) => {
      this.close();
      throw error;
    });
    return this.opening;
  }

  private async open(): Promise<void> {
    const { host, port } = parseRpcAddress(this.options.address);
    const socket = this.options.connect ? this.options.connect(host, port) : net.connect({ host, port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SerfRpcError(`RPC connect timeout ${this.options.address}`)), this.timeoutMs);
      socket.once('connect', () => { clearTimeout(timer); resolve(); });
      socket.once('error', (error) => { clearTimeout(timer); reject(error); });
    });
    this.socket = socket;
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    void this.readLoop(socket);
    await this.send('handshake', { Version: 1 }, false);
    if (this.options.authKey) await this.send('auth', { AuthKey: this.options.authKey }, false);
  }

  private async readLoop(socket: net.Socket): Promise<void> {
    let bodyFor: Pending | undefined;
    try {
      for await (const object of decodeMultiStream(socket)) {
        if (bodyFor) {
          const p = bodyFor;
          bodyFor = undefined;
          p.resolve(object);
          continue;
        }
        const header = object as { Seq?: unknown; Error?: unknown };
        const seq = Number(header.Seq);
        const p = this.pending.get(seq);
        if (!p) throw new SerfRpcError(`unexpected answer seq ${String(header.Seq)}`);
        this.pending.delete(seq);
        clearTimeout(p.timer);
        const error = typeof header.Error === 'string' ? header.Error : '';
        if (error && (NO_BODY_ERRORS.has(error) || !p.body)) {
          p.reject(new SerfRpcError(error));
        } else if (p.body) {
          bodyFor = error ? { ...p, resolve: () => p.reject(new SerfRpcError(error)) } : p;
        } else {
          p.resolve(undefined);
        }
      }
    } catch {
      // decode error or desync: drop the connection, pending requests fail below
    }
    if (this.socket === socket) this.close();
  }

  private send(command: string, body: unknown, expectBody: boolean): Promise<unknown> {
    const socket = this.socket;
    if (!socket || socket.destroyed) return Promise.reject(new SerfRpcError('RPC not connected'));
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new SerfRpcError(`RPC ${command} timed out`));
        this.close(); // answers may now be out of step: start again next time
      }, this.timeoutMs);
      this.pending.set(seq, { body: expectBody, resolve, reject, timer });
      socket.write(Buffer.concat([encode({ Command: command, Seq: seq }), encode(body)]));
    });
  }

  /** The agent's cached coordinate of `node`, or undefined when it has none yet. */
  async getCoordinate(node: string): Promise<Coordinate | undefined> {
    await this.ensureOpen();
    const answer = (await this.send('get-coordinate', { Node: node }, true)) as { Ok?: unknown; Coord?: unknown } | undefined;
    return answer?.Ok === true ? toCoordinate(answer.Coord) : undefined;
  }

  /** Coordinates of many nodes, pipelined over the one connection. */
  async getCoordinates(nodes: readonly string[]): Promise<Map<string, Coordinate>> {
    await this.ensureOpen();
    const out = new Map<string, Coordinate>();
    const answers = await Promise.all(nodes.map((n) => this.getCoordinate(n).catch(() => undefined)));
    nodes.forEach((n, i) => { const c = answers[i]; if (c) out.set(n, c); });
    return out;
  }

  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.opening = undefined;
    socket?.destroy();
    for (const [seq, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new SerfRpcError('RPC connection closed'));
      this.pending.delete(seq);
    }
  }
}
