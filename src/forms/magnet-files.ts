import type { FieldError } from '../errors.ts';

/**
 * Lead-magnet files as they come in and go out: which uploads are taken (a name, a media type,
 * at most 25 MiB) and the headers a download is sent with. Pure; the bytes live in the
 * `form_magnet_files` table (magnet-store.ts).
 */

/** Largest lead-magnet file. (25 MiB) */
export const MAX_MAGNET_FILE_BYTES = 25 * 1024 * 1024;

/** Longest file name, in characters. (255, what most file systems take) */
export const MAX_FILE_NAME_CHARS = 255;

/** What an upload without a `Content-Type` is stored (and served) as. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** `type/subtype` of RFC 9110 tokens, as stored: lower-case, without parameters. */
const MEDIA_TYPE = /^([!#$%&'*+.^_`|~0-9a-z-]{1,127})\/([!#$%&'*+.^_`|~0-9a-z-]{1,127})$/;

/**
 * Bodies that are requests, not files: JSON (the API's own bodies: a client that meant
 * `PATCH … { leadMagnet: { url } }` should hear so), form-encoded and multipart bodies.
 */
function isRequestBodyType(type: string, subtype: string): boolean {
  if (type === 'multipart') return true;
  if (type !== 'application') return false;
  return subtype === 'json' || subtype.endsWith('+json') || subtype === 'x-www-form-urlencoded';
}

/**
 * The media type an upload is stored with, from its `Content-Type` header: `type/subtype`,
 * lower-cased, parameters dropped (a download is an attachment: a charset changes no byte of
 * it). Absent: application/octet-stream. Undefined for a request body type or an unreadable one.
 */
export function magnetContentType(header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '') return DEFAULT_CONTENT_TYPE;
  const essence = header.split(';', 1)[0]!.trim().toLowerCase();
  const match = MEDIA_TYPE.exec(essence);
  if (!match || isRequestBodyType(match[1]!, match[2]!)) return undefined;
  return essence;
}

/**
 * The file name an upload is stored under, or the problem with it: 1 to 255 characters (NFC,
 * trimmed), no control characters and no path (`/`, `\`), since it becomes the name of the
 * file on the downloader's disk.
 */
export function checkFileName(raw: string): { ok: true; value: string } | { ok: false; message: string } {
  const name = raw.normalize('NFC').trim();
  if (name === '') return { ok: false, message: 'is required: the name downloads are given' };
  if (!name.isWellFormed()) return { ok: false, message: 'must be well-formed Unicode text' };
  if ([...name].length > MAX_FILE_NAME_CHARS)
    return { ok: false, message: `must be at most ${MAX_FILE_NAME_CHARS} characters` };
  if (/\p{Cc}/u.test(name)) return { ok: false, message: 'must not contain control characters' };
  if (/[/\\]/.test(name)) return { ok: false, message: 'must be a file name, without / or \\' };
  if (name === '.' || name === '..') return { ok: false, message: 'must be a file name' };
  return { ok: true, value: name };
}

/** An upload's name checked, and its content not empty; paths as the API reports them. */
export function checkUpload(upload: {
  filename: string;
  size: number;
}): { ok: true; name: string } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const name = checkFileName(upload.filename);
  if (!name.ok) errors.push({ path: '/query/filename', message: name.message });
  if (upload.size === 0)
    errors.push({ path: '/body', message: 'is empty: send the file as the request body' });
  return name.ok && errors.length === 0 ? { ok: true, name: name.value } : { ok: false, errors };
}

/** RFC 5987 attr-chars stay as they are; everything else is percent-encoded UTF-8. */
function encodeRfc5987(text: string): string {
  return encodeURIComponent(text).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `Content-Disposition: attachment` with the file's name (RFC 6266): `filename*` carries it
 * in UTF-8 for every current browser; `filename` is an ASCII fallback for the rest, without
 * `"`, `\` and `%` (some agents would unescape or decode them). `name` passed checkFileName.
 */
export function attachmentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(name)}`;
}
