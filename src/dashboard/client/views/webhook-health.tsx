import { relative } from '../format.ts';
import type { Webhook } from '../types.ts';

/** One word for how a subscription is doing, with the facts behind it in the text next to it. */
export function HealthBadge({ hook }: { hook: Webhook }) {
  const [tone, word] = !hook.enabled ? ['disabled', 'Disabled'] : hook.health.failingSince ? ['failing', 'Failing'] : hook.health.lastSuccessAt ? ['ok', 'Delivering'] : ['idle', 'No deliveries yet'];
  return <span class={`badge health-${tone}`}>{word}</span>;
}

export function HealthText({ hook }: { hook: Webhook }) {
  const parts = [`${hook.health.pending} waiting`];
  if (hook.health.failingSince) parts.push(`failing since ${relative(hook.health.failingSince)}`);
  if (hook.health.lastSuccessAt) parts.push(`last success ${relative(hook.health.lastSuccessAt)}`);
  if (hook.disabledReason) parts.push(hook.disabledReason);
  return <span class="hint">{parts.join(' · ')}</span>;
}
