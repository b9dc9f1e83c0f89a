// allow / deny: on the client address (section 6), deny wins: an address in `deny` gets 403
// even when `allow` lists it too; with `allow` present, an address outside it gets 403.
// The lists are matchers built at load (the shell uses node:net's BlockList, which matches an
// IPv4-mapped IPv6 address "::ffff:10.1.2.3" against IPv4 ranges and the other way round);
// this decision only asks them.

export interface AddressMatcher {
  check(address: string, type?: 'ipv4' | 'ipv6'): boolean
}

export interface AccessLists {
  readonly allow: AddressMatcher | null
  readonly deny: AddressMatcher | null
}

export function accessAllowed(lists: AccessLists, address: string): boolean {
  // A peer address Node could not tell (a socket already gone) is in no list.
  const type = address.includes(':') ? 'ipv6' : 'ipv4'
  if (address === '') return lists.allow === null && lists.deny === null
  if (lists.deny !== null && lists.deny.check(address, type)) return false
  return lists.allow === null || lists.allow.check(address, type)
}
