import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAddress, isPrivateAddress, mayConnect } from './addresses.ts';

describe('isPrivateAddress', () => {
  it('refuses loopback, private, link-local, CGNAT, ULA, multicast, reserved and their IPv6 disguises', () => {
    for (const address of [
      '127.0.0.1',
      '127.255.255.254',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '100.127.255.255',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '198.18.0.1',
      '::',
      '::1',
      '[::1]',
      'fc00::1',
      'fd12:3456:789a::1',
      'fe80::1',
      'fe80::1%eth0',
      'ff02::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:a9fe:a9fe',
      '::ffff:10.0.0.1',
      '64:ff9b::10.0.0.1',
      '::127.0.0.1',
      '2002:7f00:1::1',
      '2001:db8::1',
      'localhost',
      'not an address',
    ])
      assert.equal(isPrivateAddress(address), true, address);
  });

  it('lets public addresses through', () => {
    for (const address of [
      '8.8.8.8',
      '93.184.215.14',
      '1.1.1.1',
      '100.63.255.255',
      '100.128.0.1',
      '172.15.255.255',
      '172.32.0.1',
      '169.253.0.1',
      '2606:4700:4700::1111',
      '2a00:1450:4001::200e',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
    ])
      assert.equal(isPrivateAddress(address), false, address);
  });
});

describe('classifyAddress', () => {
  it('forbids link-local and cloud metadata addresses in every disguise', () => {
    for (const address of [
      '169.254.169.254',
      '169.254.0.1',
      '100.100.100.200',
      'fe80::1',
      'fe80::a9fe:a9fe%eth0',
      'fd00:ec2::254',
      '[fd00:ec2::254]',
      '::ffff:169.254.169.254',
      '::ffff:a9fe:a9fe',
      '::ffff:0:169.254.169.254',
      '::169.254.169.254',
      '64:ff9b::169.254.169.254',
    ])
      assert.equal(classifyAddress(address), 'forbidden', address);
  });

  it('keeps loopback, RFC 1918, CGNAT and ULA private (the setting allows them)', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '192.168.0.10',
      '100.64.0.1',
      '::1',
      'fd00:ec2::253',
      'fd12::1',
      '::ffff:127.0.0.1',
      'localhost',
    ])
      assert.equal(classifyAddress(address), 'private', address);
  });

  it('treats IPv4-translated (::ffff:0:0:0/96) and IPv4-compatible forms as at least private', () => {
    assert.equal(classifyAddress('::ffff:0:127.0.0.1'), 'private');
    assert.equal(classifyAddress('::ffff:0:7f00:1'), 'private');
    assert.equal(classifyAddress('::ffff:0:10.0.0.1'), 'private');
    assert.equal(classifyAddress('::ffff:0:8.8.8.8'), 'private', 'not a public address either');
    assert.equal(classifyAddress('::8.8.8.8'), 'private');
    assert.equal(classifyAddress('::ffff:8.8.8.8'), 'public', 'IPv4-mapped: judged by its IPv4 address');
  });

  it('lets a connection through by class and setting', () => {
    assert.deepEqual(
      (['public', 'private', 'forbidden'] as const).map((k) => [mayConnect(k, false), mayConnect(k, true)]),
      [
        [true, true],
        [false, true],
        [false, false],
      ],
    );
  });
});
