import { startTestPlatform, type TestPlatform } from './test-platform.js';

/**
 * A test platform (startTestPlatform) with the busybox image bootstrapped, as most end-to-end files
 * start: `beforeAll(async () => (p = await startBusyboxPlatform()), 180_000)`, or `const p =
 * platformForFile()`, which also stops it after the file. When the bootstrap fails, the platform is
 * stopped and the error carries the CLI's stderr.
 */
export async function startBusyboxPlatform(options: Parameters<typeof startTestPlatform>[0] = {}): Promise<TestPlatform> {
  const p = await startTestPlatform(options);
  const boot = await p.berth(['image', 'bootstrap', 'busybox']);
  if (boot.code !== 0) {
    await p.stop();
    throw new Error(`berth image bootstrap busybox exited with ${boot.code}: ${boot.stderr}`);
  }
  return p;
}

/**
 * Removes every container of `p` (`afterEach`: a failed test must not leave containers the next one
 * counts); `volumes`: their anonymous volumes too (`rm -v`).
 */
export async function removeAllContainers(p: TestPlatform, options: { volumes?: boolean } = {}): Promise<void> {
  const ids = (await p.berth(['ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await p.berth(['rm', '-f', ...(options.volumes ? ['-v'] : []), ...ids]);
}
