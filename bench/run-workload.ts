// Runs one workload within its time budget; an error becomes the outcome of every metric it owed.

import { errorMessage, withTimeout } from './time.js';
import { failedOutcomes, type MetricOutcomes, type Workload, type WorkloadContext } from './workload.js';

export async function runWorkload(workload: Workload, context: WorkloadContext): Promise<MetricOutcomes> {
  context.log(`${workload.name}: ${workload.description}`);
  try {
    const outcomes = await withTimeout(workload.run(context), workload.timeBudgetMs(context.options), workload.name);
    for (const metric of workload.metrics) outcomes[metric.name] ??= { error: 'not reported' };
    return outcomes;
  } catch (error) {
    context.log(`${workload.name}: error: ${errorMessage(error)}`);
    return failedOutcomes(workload.metrics, errorMessage(error));
  }
}
