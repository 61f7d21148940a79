// The change feed's activities: the dispatcher's claims and the webhook deliveries.
import type { ActivityDeps } from '../deps';
import { deliveryActivities } from './delivery';
import { dispatchActivities } from './dispatch';

export function feedActivities(deps: ActivityDeps) {
  return { ...dispatchActivities(deps), ...deliveryActivities(deps) };
}
