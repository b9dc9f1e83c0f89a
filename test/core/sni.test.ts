// SNI certificate choice (core/sni.ts): exact, then one-label wildcard, else the first; and
// the names read from a certificate's subjectAltName / subject texts.
import { describe, expect, it } from 'vitest'
import { certificateNames, sniPick, sniTable } from '../../src/core/sni.js'

describe('sniPick', () => {
  const table = sniTable([
    ['default.test'],
    ['a.example.com', 'www.example.com'],
    ['*.example.com'],
    ['*.example.com', 'B.Example.com'], // the wildcard is the earlier certificate's
  ])
  it.each([
    ['exact', 'a.example.com', 1],
    ['exact, any case', 'WWW.Example.COM', 1],
    ['exact beats wildcard', 'b.example.com', 3],
    ['wildcard', 'c.example.com', 2],
    ['wildcard covers one label only', 'x.c.example.com', 0],
    ['wildcard does not cover the bare domain', 'example.com', 0],
    ['unknown: the first', 'other.test', 0],
    ['empty: the first', '', 0],
    ['the first by its own name', 'default.test', 0],
  ])('%s: %s -> %i', (_why, name, index) => {
    expect(sniPick(table, name)).toBe(index)
  })
})

describe('certificateNames', () => {
  it.each([
    ['DNS names of the SAN, lower case', 'DNS:A.example.com, DNS:*.example.com, IP Address:127.0.0.1', 'CN=ignored', ['a.example.com', '*.example.com']],
    ['no SAN: the CN', undefined, 'C=DE\nO=x\nCN=Only.example.com', ['only.example.com']],
    ['a SAN without DNS names: the CN', 'IP Address:10.0.0.1', 'CN=cn.test', ['cn.test']],
    ['quoted entries', 'DNS:"a,b.test", DNS:c.test', undefined, ['a,b.test', 'c.test']],
    ['nothing', undefined, undefined, []],
  ])('%s', (_why, san, subject, names) => {
    expect(certificateNames(san, subject)).toEqual(names)
  })
})
