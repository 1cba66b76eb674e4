/**
 * The port a singleton's background work asks before each round: does this replica lead?
 * `cluster/leases.ts` implements it with leases in the store; without one, a process leads alone.
 */
export interface Singleton {
  /** Takes or renews leadership; true while this replica leads. */
  lead(): Promise<boolean>;
}
