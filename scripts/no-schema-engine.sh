#!/bin/sh
# Stand-in for Prisma's native schema engine, which cannot be downloaded here. `prisma generate` only
# checks that the file exists and never runs it; anything that does run it gets a clear message.
echo "prisma: the native schema engine is not available offline; migrations are applied by prisma/migrator.ts (npm run migrate)" >&2
exit 1
