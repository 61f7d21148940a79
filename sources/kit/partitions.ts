// Partitions: the independent requests one snapshot is made of (one per indicator, per period, per
// tile...). A source declares its lists; the kit walks their cartesian product in a stable order, so
// the same params always mean the same requests in the same order.

type Choice<L extends Record<string, readonly unknown[]>> = { [K in keyof L]: L[K][number] };

/** Every combination of one value from each list, the first list varying slowest. */
export function cartesian<L extends Record<string, readonly unknown[]>>(lists: L): Choice<L>[] {
  let combos: Record<string, unknown>[] = [{}];
  for (const [name, values] of Object.entries(lists)) {
    combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [name]: value })));
  }
  return combos as Choice<L>[];
}
