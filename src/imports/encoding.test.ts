import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodingNamed, SNIFF_BYTES, sniffEncoding, Utf8Input } from './encoding.ts';

/** A file's chunks through `Utf8Input`: the UTF-8 text out, and what it found. */
async function read(chunks: Buffer[], named?: string) {
  const input = new Utf8Input(named);
  const out: Buffer[] = [];
  async function* source() {
    yield* chunks;
  }
  for await (const chunk of input.chunks(source())) out.push(chunk);
  return {
    text: Buffer.concat(out).toString('utf8'),
    encoding: input.encoding,
    invalidBytes: input.invalidBytes,
  };
}

/** `bytes` cut into chunks of `size` bytes, as a stream hands them over. */
function cut(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

describe('import encodings', () => {
  it('names encodings by their WHATWG labels: latin1 is windows-1252', () => {
    assert.equal(encodingNamed('UTF8'), 'utf-8');
    assert.equal(encodingNamed(' latin1 '), 'windows-1252');
    assert.equal(encodingNamed('cp1252'), 'windows-1252');
    assert.equal(encodingNamed('utf-16'), 'utf-16le');
    assert.equal(encodingNamed('klingon'), undefined);
  });

  it('guesses from the first bytes: BOM, else UTF-8 when they are, else windows-1252', () => {
    assert.equal(sniffEncoding(Buffer.from('Email\n'), true), 'utf-8');
    assert.equal(sniffEncoding(Buffer.from('Name\nJürgen\n'), true), 'utf-8');
    assert.equal(sniffEncoding(Buffer.from('Name\nJ\xfcrgen\n', 'latin1'), true), 'windows-1252');
    assert.equal(sniffEncoding(Buffer.from([0xff, 0xfe, 0x45, 0]), true), 'utf-16le');
    assert.equal(sniffEncoding(Buffer.from([0xfe, 0xff, 0, 0x45]), true), 'utf-16be');
    // A character cut off by the end of the look is UTF-8 still, unless the file ends there.
    const cutOff = Buffer.from('Jürgen').subarray(0, 2);
    assert.equal(sniffEncoding(cutOff, false), 'utf-8');
    assert.equal(sniffEncoding(cutOff, true), 'windows-1252');
  });

  it('passes UTF-8 through whatever the chunk boundaries, and flags bytes that are not UTF-8 after the start', async () => {
    // Past the first 64 KiB, so that its later chunks are checked as they come.
    const utf8 = Buffer.from(`Name\n${'Jürgen €\n'.repeat(6_000)}`);
    assert.ok(utf8.length > SNIFF_BYTES);
    for (const size of [2, 3, 7, 65_536]) {
      const { text, encoding, invalidBytes } = await read(cut(utf8, size));
      assert.deepEqual([encoding, invalidBytes], ['utf-8', false], `chunks of ${size}`);
      assert.equal(text, utf8.toString('utf8'));
    }
    const mixed = Buffer.concat([utf8, Buffer.from('M\xfcller\n', 'latin1')]);
    assert.deepEqual(await read(cut(mixed, 65_536)), {
      text: mixed.toString('utf8'),
      encoding: 'utf-8',
      invalidBytes: true,
    });
    // A character cut off by the end of the file is not UTF-8 either.
    const cutOff = await read(cut(Buffer.concat([utf8, Buffer.from([0xc3])]), 65_536));
    assert.equal(cutOff.invalidBytes, true);
  });

  it('decodes windows-1252 and UTF-16 into UTF-8, characters cut between chunks included', async () => {
    const latin = Buffer.from('Name\nM\xfcller \x80\n', 'latin1');
    assert.deepEqual(await read(cut(latin, 3)), {
      text: 'Name\nMüller €\n',
      encoding: 'windows-1252',
      invalidBytes: false,
    });
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Name\nZoë 😀\n', 'utf16le')]);
    assert.deepEqual(await read(cut(utf16, 3)), {
      text: 'Name\nZoë 😀\n',
      encoding: 'utf-16le',
      invalidBytes: false,
    });
    // A named encoding is taken at its word, but a BOM says more.
    assert.equal((await read([Buffer.from('Name\nabc\n')], 'windows-1252')).encoding, 'windows-1252');
    assert.equal((await read([utf16], 'windows-1252')).text, 'Name\nZoë 😀\n');
    const named = await read([Buffer.from('Name\nK\xf6ln\n', 'latin1')], 'utf-8');
    assert.deepEqual([named.encoding, named.invalidBytes], ['utf-8', true]);
  });

  it('tells a UTF-16 file with a lone surrogate, which decodes to U+FFFD', async () => {
    const lone = Buffer.from([0xff, 0xfe, 0x41, 0x00, 0x00, 0xd8, 0x42, 0x00]);
    assert.deepEqual(await read(cut(lone, 3)), {
      text: 'A\uFFFDB',
      encoding: 'utf-16le',
      invalidBytes: true,
    });
  });
});
