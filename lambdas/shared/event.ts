import type * as z from 'zod';
import { EventValidationError } from '../core/errors';

/** Validates an incoming event before any work; the error lists each bad field and what was expected. */
export function parseEvent<S extends z.ZodType>(schema: S, event: unknown, handler: string): z.output<S> {
  const result = schema.safeParse(event);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ');
  throw new EventValidationError(`${handler} received an invalid event: ${problems}`);
}
