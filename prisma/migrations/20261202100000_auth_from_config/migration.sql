-- Issue #9: data_source_configs.auth_type decides how the stored credential is sent, applied by the HTTP
-- client to every request to the base URL's origin (sources/kit/http/auth.ts), so no connector places a key.

-- CreateEnum
CREATE TYPE "ApiKeyLocation" AS ENUM ('header', 'query');

-- AlterTable
ALTER TABLE "data_source_configs" ADD COLUMN     "api_key_in" "ApiKeyLocation" NOT NULL DEFAULT 'header',
ADD COLUMN     "api_key_param" TEXT,
ADD COLUMN     "bearer_login_url" TEXT;

-- Columns nothing read: data_sources.source_type (always 'external'; the connector and url say what kind of
-- source it is) and datasets.description (never written; the source's title and note describe it).

-- AlterTable
ALTER TABLE "data_sources" DROP COLUMN "source_type";

-- AlterTable
ALTER TABLE "datasets" DROP COLUMN "description";

-- What the connectors used to do on their own, now said by the configuration, so existing installations
-- send exactly what they sent before:
-- UN Comtrade sent a stored key as the Ocp-Apim-Subscription-Key header, whatever auth_type said.
UPDATE "data_source_configs" AS c
   SET "auth_type" = 'api_key', "api_key_param" = 'Ocp-Apim-Subscription-Key', "api_key_in" = 'header'
  FROM "data_sources" AS s
 WHERE s."id" = c."data_source_id" AND s."connector" = 'un_comtrade' AND c."api_key_param" IS NULL;
-- FAOSTAT's api route logged in at {base_url}/auth/login with the username and the stored password and sent
-- the token as a bearer (its bulk route needs no account and sends nothing to the API's origin).
UPDATE "data_source_configs" AS c
   SET "auth_type" = 'bearer', "bearer_login_url" = 'auth/login'
  FROM "data_sources" AS s
 WHERE s."id" = c."data_source_id" AND s."connector" = 'faostat' AND c."auth_type" = 'none'
   AND c."bearer_login_url" IS NULL;
-- UNIDO's legacy API takes its account in Username/Password headers that its connector sets itself; no auth
-- type says that, and 'basic' would now add an Authorization header it never sent.
UPDATE "data_source_configs" AS c
   SET "auth_type" = 'none'
  FROM "data_sources" AS s
 WHERE s."id" = c."data_source_id" AND s."connector" = 'unido_indstat' AND c."auth_type" = 'basic';
