// Majority arithmetic over one set of voters. Pure functions: no state, no side effects.

export const VoteResult = {
  /** Not decided yet: enough voters have not answered either way. */
  Pending: 0,
  Lost: 1,
  Won: 2,
} as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

export function quorumSize(voterCount: number): number {
  return Math.floor(voterCount / 2) + 1;
}

/**
 * The highest index that a majority of voters has acknowledged. With no voters there is nothing
 * to commit, so 0.
 */
export function committedIndex(voters: readonly number[], acknowledgedIndex: (id: number) => number): number {
  if (voters.length === 0) return 0;
  const indexes = voters.map(acknowledgedIndex).sort((a, b) => b - a);
  return indexes[quorumSize(voters.length) - 1];
}

/** The outcome of an election (or any yes/no poll) given the answers received so far. */
export function voteResult(voters: readonly number[], votes: ReadonlyMap<number, boolean>): VoteResult {
  if (voters.length === 0) return VoteResult.Won;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  const needed = quorumSize(voters.length);
  if (granted >= needed) return VoteResult.Won;
  if (granted + missing >= needed) return VoteResult.Pending;
  return VoteResult.Lost;
}

/** Whether the members in `active` include a majority of voters. */
export function hasQuorum(voters: readonly number[], active: (id: number) => boolean): boolean {
  let count = 0;
  for (const id of voters) if (active(id)) count++;
  return count >= quorumSize(voters.length);
}
