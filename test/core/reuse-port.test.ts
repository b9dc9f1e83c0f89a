// When reuse_port with workers needs the operator to set net.ipv4.tcp_migrate_req.
import { describe, expect, it } from 'vitest'
import { reusePortNote } from '../../src/core/reuse-port.js'

describe('reusePortNote', () => {
  it.each([
    [[], 2, '0', null],
    [['public'], 1, '0', null], // one process: no worker hands anything over
    [['public'], 2, '1', ['info', 'hands the connections']],
    [['public'], 2, '1\n', ['info', 'net.ipv4.tcp_migrate_req is 1:']], // as read from /proc
    [['public'], 4, '0\n', ['warn', 'net.ipv4.tcp_migrate_req is 0:']],
    [['a', 'b'], 2, '2', ['warn', 'net.ipv4.tcp_migrate_req is 2:']],
    [['public'], 2, null, ['warn', 'Linux before 5.14']],
  ] as const)('%j, %i workers, sysctl %j -> %j', (listeners, workers, migrate, expected) => {
    const got = reusePortNote(listeners, workers, migrate)
    if (expected === null) expect(got).toBeNull()
    else {
      expect(got?.level).toBe(expected[0])
      expect(got?.msg).toContain(expected[1])
    }
  })
})
