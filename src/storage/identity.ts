// Which member of which cluster a log belongs to. Recorded once, when the log is created, so a
// member can never start on another member's data directory.

export interface MemberIdentity {
  readonly clusterId: number;
  readonly memberId: number;
  readonly name: string;
}

/**
 * Whether `stored` is the same member as `expected`. The ids decide: they are what peers know the
 * member by. The name is only a label (the caller is told when it changed).
 */
export function sameMember(stored: MemberIdentity, expected: MemberIdentity): boolean {
  return stored.clusterId === expected.clusterId && stored.memberId === expected.memberId;
}
