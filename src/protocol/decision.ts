import type { Check, Decision } from '../core/types.js';

/** The fields of a Decision that travel over the wire (the HTTP API, the CLI's --json). */
export type WireDecision = Omit<Decision, 'windowMs' | 'algorithm'>;

export function toWireDecision(decision: WireDecision): WireDecision {
  const { allowed, limit, remaining, count, retryAfterMs, resetAfterMs, degraded } = decision;
  const wire = { allowed, limit, remaining, count, retryAfterMs, resetAfterMs };
  return degraded === true ? { ...wire, degraded } : wire;
}

/** A validated check as the service's JSON takes it: the window in whole milliseconds. */
export interface WireCheck {
  key: string;
  limit: number;
  window: string;
  cost: number;
  algorithm: string;
}

export function checkToWire(check: Check): WireCheck {
  return {
    key: check.key,
    limit: check.limit,
    window: `${check.windowMs}ms`,
    cost: check.cost,
    algorithm: check.algorithm,
  };
}

const NUMBER_FIELDS = ['limit', 'remaining', 'count', 'retryAfterMs', 'resetAfterMs'] as const;

/** A decision as the service sent it, or undefined when the reply is not one. */
export function decisionFromWire(value: unknown): WireDecision | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const fields = value as Record<string, unknown>;
  if (typeof fields.allowed !== 'boolean') return undefined;
  for (const name of NUMBER_FIELDS) {
    const number = fields[name];
    if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) return undefined;
  }
  return toWireDecision(value as WireDecision);
}
