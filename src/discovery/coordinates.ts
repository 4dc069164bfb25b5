// Serf network coordinates (Vivaldi): validation of what the agent reports, and the distance
// serf itself computes (coordinate.DistanceTo), so RTTs between any two nodes can be estimated
// locally from one read of every node's coordinate.

export interface Coordinate {
  vec: number[];
  error: number;
  adjustment: number;
  height: number;
}

const MAX_VEC = 16;

/** Validates a coordinate as the agent sends it ({Vec, Error, Adjustment, Height}): bounded, finite. */
export function toCoordinate(raw: unknown): Coordinate | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const c = raw as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  if (!Array.isArray(c.Vec) || c.Vec.length === 0 || c.Vec.length > MAX_VEC) return undefined;
  const vec = c.Vec.map(num);
  if (vec.some((v) => v === undefined)) return undefined;
  const error = num(c.Error);
  const adjustment = num(c.Adjustment);
  const height = num(c.Height);
  if (error === undefined || adjustment === undefined || height === undefined || height < 0) return undefined;
  return { vec: vec as number[], error, adjustment, height };
}

/**
 * Serf's estimate in milliseconds: |a.vec − b.vec| + a.height + b.height, plus both adjustments
 * when that stays positive (coordinates are in seconds).
 */
export function vivaldiDistanceMs(a: Coordinate, b: Coordinate): number | undefined {
  if (a.vec.length !== b.vec.length) return undefined;
  let sum = 0;
  for (let i = 0; i < a.vec.length; i++) sum += (a.vec[i]! - b.vec[i]!) ** 2;
  let dist = Math.sqrt(sum) + a.height + b.height;
  const adjusted = dist + a.adjustment + b.adjustment;
  if (adjusted > 0) dist = adjusted;
  return dist * 1000;
}
