// The floor of the fan-out bench (fanout.bench.ts): a workflow that does nothing, registered only by the
// bench's own worker, so 1,000 starts of it measure what the Temporal server alone costs per workflow.
export async function emptyWorkflow(): Promise<number> {
  return 0;
}
