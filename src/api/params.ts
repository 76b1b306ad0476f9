import { z } from 'zod';
import { RECORDING_ID } from '../contracts/layout';
import { HttpError } from './errors';

/** Path parameters, validated before anything touches Redis, S3 or LiveKit. */
export const RoomName = z
  .string()
  .min(1)
  .max(128)
  .refine((s) => !/[/\\\u0000-\u001f\u007f]/.test(s), 'must not contain slashes or control characters')
  .refine((s) => s !== '.' && s !== '..', 'must not be a relative path');

export const RecordingIdParam = z.string().regex(RECORDING_ID, 'is not a recording id');

export function parseParam<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HttpError(400, 'invalid_parameter', `${name} ${r.error.issues[0]?.message ?? 'is invalid'}`);
  return r.data;
}
