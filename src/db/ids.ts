import { v7 } from 'uuid';

/**
 * A new time-ordered id (UUIDv7): index-friendly, and ~15x cheaper here than a ULID. Called
 * without options on purpose: only then does `uuid` keep its monotonic counter, so ids made in
 * the same millisecond still sort in creation order (timelines order ties by id).
 */
export function newId(): string {
  return v7();
}
