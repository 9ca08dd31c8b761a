/** Lifecycle stages in the order a lead moves forward; `disqualified` stands outside the order. */
export const stages = [
  'subscriber',
  'lead',
  'mql',
  'sql',
  'opportunity',
  'customer',
  'disqualified',
] as const;
export type Stage = (typeof stages)[number];

/** The stage a new lead gets when its capture names none. */
export const defaultStage: Stage = 'lead';

export function isStage(value: string): value is Stage {
  return (stages as readonly string[]).includes(value);
}

/**
 * The stage after a capture that names `proposed`: stages move forward automatically, never
 * backwards (going back is an explicit recycle), and a disqualified lead stays so.
 */
export function forwardStage(current: Stage, proposed: Stage | undefined): Stage {
  if (proposed === undefined || current === 'disqualified' || proposed === 'disqualified') return current;
  return stages.indexOf(proposed) > stages.indexOf(current) ? proposed : current;
}
