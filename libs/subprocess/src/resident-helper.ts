import { spawn, type ChildProcess } from 'node:child_process';

/** There is no helper to ask (it cannot start, is turned off, or died with the request in flight). */
export class HelperGone extends Error {}

/**
 * A small resident Perl process asked one request a line on its stdin and answering one line on its
 * stdout, in order: the shape of the mount helper (mount-helper.ts) and the tool forker
 * (libs/network tool-forker.ts), which exist because a fork of the agent's large Node process
 * stalls its event loop and a fork of Perl (perl-base is Essential in Debian) does not. Started at
 * the first request; it ends with its stdin, so with this process, however that ends; it keeps this
 * process alive only while a request is in flight.
 */
export class ResidentHelper {
  private child: ChildProcess | undefined;
  private readonly pending: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  private buffered = '';
  /** perl could not be started at all (missing), or turned off: never tried again. */
  private unavailable: boolean;

  /** `name` names it in errors ("mount helper"); `off`: never start it (callers do the work themselves). */
  constructor(
    private readonly name: string,
    private readonly script: string,
    private readonly args: string[] = [],
    off = false,
  ) {
    this.unavailable = off;
  }

  /** Whether requests go to a helper (false: turned off, or perl is missing). */
  get available(): boolean {
    return !this.unavailable;
  }

  /** The helper's answer line to request `line` (no newline in it); HelperGone when there is no helper. */
  ask(line: string): Promise<string> {
    const child = this.start();
    if (child === undefined) return Promise.reject(new HelperGone(`no ${this.name}`));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.hold(true);
      child.stdin!.write(`${line}\n`);
    });
  }

  private start(): ChildProcess | undefined {
    if (this.child !== undefined || this.unavailable) return this.child;
    const child = spawn('perl', ['-e', this.script, ...this.args], { stdio: ['pipe', 'pipe', 'ignore'], cwd: '/' });
    this.child = child;
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onData(chunk));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') this.unavailable = true;
      this.gone(child, err.message);
    });
    child.on('exit', () => this.gone(child, `the ${this.name} exited`));
    // A write after it died is answered by 'exit' (the request fails over to the caller).
    child.stdin!.on('error', () => undefined);
    this.hold(false);
    return child;
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (let i = this.buffered.indexOf('\n'); i >= 0; i = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, i);
      this.buffered = this.buffered.slice(i + 1);
      this.pending.shift()?.resolve(line);
    }
    if (this.pending.length === 0) this.hold(false);
  }

  /** Requests in flight fail over to their callers; the next request starts a new helper. */
  private gone(child: ChildProcess, why: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.buffered = '';
    for (const waiter of this.pending.splice(0)) waiter.reject(new HelperGone(why));
  }

  private hold(busy: boolean): void {
    const child = this.child;
    if (child === undefined) return;
    for (const handle of [child, child.stdin, child.stdout] as Array<{ ref?: () => void; unref?: () => void } | null>) {
      if (busy) handle?.ref?.();
      else handle?.unref?.();
    }
  }
}
