import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachmentDisposition, checkFileName, checkUpload, magnetContentType } from './magnet-files.ts';

describe('lead-magnet uploads', () => {
  it('store the media type lower-cased without parameters; none is application/octet-stream', () => {
    assert.equal(magnetContentType('application/pdf'), 'application/pdf');
    assert.equal(magnetContentType('Text/HTML; charset=UTF-8'), 'text/html');
    assert.equal(magnetContentType(undefined), 'application/octet-stream');
    assert.equal(magnetContentType(''), 'application/octet-stream');
    assert.equal(magnetContentType('image/svg+xml'), 'image/svg+xml');
  });

  it('refuse request bodies (JSON, form-encoded, multipart) and unreadable types', () => {
    for (const type of [
      'application/json',
      'application/merge-patch+json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'multipart/mixed',
      'pdf',
      'a/b/c',
      'text/ html',
    ])
      assert.equal(magnetContentType(type), undefined, type);
  });

  it('take a file name, never a path or control characters', () => {
    assert.deepEqual(checkFileName('  Guide – 2026.pdf '), { ok: true, value: 'Guide – 2026.pdf' });
    // NFC: "é" typed as e + combining accent is stored as the one character.
    assert.deepEqual(checkFileName('cafe\u0301.pdf'), { ok: true, value: 'café.pdf' });
    for (const bad of [
      '',
      '  ',
      '../x.pdf',
      'a/b',
      'a\\b',
      'a\nb',
      'a\u0000b',
      '.',
      '..',
      'x'.repeat(256),
      '\ud800.pdf',
    ])
      assert.equal(checkFileName(bad).ok, false, JSON.stringify(bad));
    assert.equal(checkFileName('😀'.repeat(255)).ok, true, 'characters are counted, not UTF-16 units');
  });

  it('report the name and an empty body together', () => {
    assert.deepEqual(checkUpload({ filename: 'a/b', size: 0 }), {
      ok: false,
      errors: [
        { path: '/query/filename', message: 'must be a file name, without / or \\' },
        { path: '/body', message: 'is empty: send the file as the request body' },
      ],
    });
    assert.deepEqual(checkUpload({ filename: 'a.pdf', size: 1 }), { ok: true, name: 'a.pdf' });
  });

  it('name the download in UTF-8 (RFC 6266 filename*) with an ASCII fallback', () => {
    assert.equal(
      attachmentDisposition('guide.pdf'),
      `attachment; filename="guide.pdf"; filename*=UTF-8''guide.pdf`,
    );
    assert.equal(
      attachmentDisposition('Ünïcode "quoted" 100% (v2)\'s.pdf'),
      `attachment; filename="_n_code _quoted_ 100_ (v2)'s.pdf"; filename*=UTF-8''%C3%9Cn%C3%AFcode%20%22quoted%22%20100%25%20%28v2%29%27s.pdf`,
    );
    // Nothing of a name can end the header or start another.
    assert.doesNotMatch(attachmentDisposition('a;b=c\r\nSet-Cookie: x.pdf'), /[\r\n]/);
  });
});
