/**
 * The text encoding of an imported file, and its bytes turned into UTF-8 for the parser.
 * Excel's "CSV UTF-8" export writes UTF-8 with a BOM; its plain "CSV" export writes the
 * system's ANSI code page, windows-1252 in Western Europe and the Americas ("ü" as the byte
 * 0xFC); "Unicode Text" is UTF-16LE with a BOM. Encodings are named and decoded as the WHATWG
 * Encoding Standard does (Node's TextDecoder): "latin1" and "iso-8859-1" are windows-1252 there.
 */

/**
 * Bytes at the start of a file that decide its encoding when nothing names it: the header and
 * many rows. Enough for a guess, and held only until it is made. (64 KiB)
 */
export const SNIFF_BYTES = 64 * 1024;

/** The encoding a label names ("latin1", "CP1252", "utf8"), as TextDecoder calls it, or undefined. */
export function encodingNamed(label: string): string | undefined {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    return undefined;
  }
}

/** The encoding the byte order mark at the start of `bytes` stands for, if there is one. */
export function bomEncoding(bytes: Uint8Array): 'utf-8' | 'utf-16le' | 'utf-16be' | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return undefined;
}

/**
 * Whether `bytes` are UTF-8; `complete` says they are the whole file, else a character cut off
 * at their end may still be completed.
 */
function isUtf8(bytes: Uint8Array, complete: boolean): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: !complete });
    return true;
  } catch {
    return false;
  }
}

/**
 * The encoding of a file nothing names, from its first bytes: its BOM's; else UTF-8 when they
 * are UTF-8 (plain ASCII included); else windows-1252, which is what a file that is not UTF-8
 * mostly is, and which gives every byte a character.
 */
export function sniffEncoding(head: Uint8Array, complete: boolean): string {
  return bomEncoding(head) ?? (isUtf8(head, complete) ? 'utf-8' : 'windows-1252');
}

/**
 * A file's bytes as UTF-8, read in the encoding it is named in (a BOM overrides the name, as
 * browsers do), else in the one `sniffEncoding` guesses from its first `SNIFF_BYTES`. A file
 * read as UTF-8 passes through as it is (the parser decodes it), checked on the way: bytes that
 * are not UTF-8 would reach its text as U+FFFD, and `invalidBytes` tells the rows that hold them
 * from then on. Other encodings are decoded and encoded again as UTF-8, chunk by chunk, checked
 * the same way (UTF-16 with a lone surrogate, say).
 */
export class Utf8Input {
  /** The encoding the file is read in, once its first bytes are in. */
  encoding: string | undefined;
  /** Bytes not valid in the file's encoding turned up, at or before what the parser has. */
  invalidBytes = false;
  readonly #named: string | undefined;

  /** `named`: the encoding the file is said to be in (`encodingNamed`), if anything says. */
  constructor(named: string | undefined) {
    this.#named = named;
  }

  async *chunks(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    // Not `for await`: stopping early must not destroy the caller's stream.
    const chunks = source[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let headBytes = 0;
    let complete = false;
    while (headBytes < SNIFF_BYTES) {
      const next = await chunks.next();
      if (next.done) {
        complete = true;
        break;
      }
      head.push(next.value);
      headBytes += next.value.length;
    }
    const start = Buffer.concat(head);
    // Exactly the first SNIFF_BYTES, however they came: a file is read the same in any chunks.
    const sniffed = start.subarray(0, SNIFF_BYTES);
    this.encoding =
      bomEncoding(start) ?? this.#named ?? sniffEncoding(sniffed, complete && start.length <= SNIFF_BYTES);
    const convert = this.encoding === 'utf-8' ? this.#checkedUtf8() : this.#checkedDecode(this.encoding);
    yield* nonEmpty(convert(start, complete));
    if (complete) return;
    for (let next = await chunks.next(); ; next = await chunks.next()) {
      const last = next.done === true;
      yield* nonEmpty(convert(last ? Buffer.alloc(0) : next.value, last));
      if (last) return;
    }
  }

  /** The identity on UTF-8 chunks, setting `invalidBytes` at the first bytes that are not UTF-8. */
  #checkedUtf8(): Converter {
    const check = new TextDecoder('utf-8', { fatal: true });
    return (chunk, last) => {
      this.#check(check, chunk, last);
      return chunk;
    };
  }

  /**
   * Chunks in `encoding` to UTF-8, setting `invalidBytes` at the first bytes not valid in it (the
   * output has U+FFFD there). A character cut between chunks waits for the next one.
   */
  #checkedDecode(encoding: string): Converter {
    const decoder = new TextDecoder(encoding);
    const check = new TextDecoder(encoding, { fatal: true });
    return (chunk, last) => {
      this.#check(check, chunk, last);
      return Buffer.from(decoder.decode(chunk, { stream: !last }), 'utf8');
    };
  }

  #check(check: InstanceType<typeof TextDecoder>, chunk: Buffer, last: boolean): void {
    if (this.invalidBytes) return;
    try {
      check.decode(chunk, { stream: !last });
    } catch {
      this.invalidBytes = true;
    }
  }
}

/** One chunk of a file in, its UTF-8 out; `last` says no chunk follows (the chunk may be empty). */
type Converter = (chunk: Buffer, last: boolean) => Buffer;

function* nonEmpty(chunk: Buffer): Generator<Buffer> {
  if (chunk.length > 0) yield chunk;
}
