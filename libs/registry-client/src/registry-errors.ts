import {
  type BerthError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
} from '@berth/errors';
import { readBody, type HttpResponse } from './http-request.js';

/**
 * Registry error responses (distribution-spec "Error Codes") become Berth errors whose message is
 * what Docker prints: the code in lowercase words, a colon, the registry's message
 * (`unauthorized: authentication required`, `manifest unknown: manifest unknown`), after a
 * context (`Cannot push "x": ...`) except for 401 and 403. The class follows the HTTP status:
 * 401/403 PermissionDeniedError, 404 NotFoundError, 400/413/416 InvalidArgumentError,
 * 405 FailedPreconditionError, 429/5xx UnavailableError, anything else InternalError.
 * `code` is the registry's code (`MANIFEST_UNKNOWN`), `detail` holds status, url and the raw errors.
 */
export interface RegistryErrorBody {
  errors?: Array<{ code?: string; message?: string; detail?: unknown }>;
  /** Token servers answer OAuth-style (`error_description`) or Docker Hub-style (`details`). */
  error?: string;
  error_description?: string;
  details?: string;
}

const MAX_ERROR_BODY = 64 * 1024;

/** Reads the body of a failed response and builds the error. */
export async function registryError(res: HttpResponse, context?: string): Promise<BerthError> {
  let body: RegistryErrorBody | undefined;
  let text = '';
  try {
    text = (await readBody(res, MAX_ERROR_BODY)).toString('utf8');
    body = JSON.parse(text) as RegistryErrorBody;
  } catch {
    body = undefined;
  }
  return errorFromBody(res.status, body, { context, url: res.url.toString(), text });
}

export function errorFromBody(
  status: number,
  body: RegistryErrorBody | undefined,
  options: { context?: string; url?: string; text?: string } = {},
): BerthError {
  const first = Array.isArray(body?.errors) ? body!.errors[0] : undefined;
  const code = first?.code ?? defaultCode(status);
  let message = first?.message ?? body?.details ?? body?.error_description ?? body?.error;
  if (message === undefined || message === '') {
    const text = options.text?.trim() ?? '';
    message = text !== '' && text.length <= 200 && !text.startsWith('<') ? text : defaultMessage(status);
  }
  const words = `${code.toLowerCase().replace(/_/g, ' ')}: ${message}`;
  // Auth failures read best bare, as Docker prints them: `unauthorized: authentication required`.
  const full = options.context && status !== 401 && status !== 403 ? `${options.context}: ${words}` : words;
  const errorOptions = { code, detail: { status, url: options.url, errors: body?.errors } };
  if (status === 401 || status === 403) return new PermissionDeniedError(full, errorOptions);
  if (status === 404) return new NotFoundError(full, errorOptions);
  if (status === 400 || status === 413 || status === 416) return new InvalidArgumentError(full, errorOptions);
  if (status === 405) return new FailedPreconditionError(full, errorOptions);
  if (status === 429 || status >= 500) return new UnavailableError(full, errorOptions);
  return new InternalError(full, errorOptions);
}

/** The registry's code and message for an error status whose body names none (Docker's words). */
const statusDefaults = new Map<number, { code: string; message?: string }>([
  [401, { code: 'UNAUTHORIZED', message: 'authentication required' }],
  [403, { code: 'DENIED', message: 'requested access to the resource is denied' }],
  [404, { code: 'NOT_FOUND', message: 'not found' }],
  [405, { code: 'UNSUPPORTED' }],
  [429, { code: 'TOOMANYREQUESTS' }],
]);

function defaultCode(status: number): string {
  return statusDefaults.get(status)?.code ?? (status >= 500 ? 'UNAVAILABLE' : 'UNKNOWN');
}

function defaultMessage(status: number): string {
  return statusDefaults.get(status)?.message ?? `unexpected HTTP status ${status}`;
}
