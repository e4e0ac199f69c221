import { FailedPreconditionError } from '@berth/errors';

/**
 * `berth platform up|down|status`: starts, stops and checks the platform's own services.
 * TODO(lead): replace this stub with the real implementation (owned by the lead).
 */
export async function platformCommand(_argv: string[]): Promise<number> {
  throw new FailedPreconditionError('platform commands are not available yet');
}
