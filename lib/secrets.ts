// API keys are stored encrypted at rest (AES-256-GCM) under a key from the environment
// (TEDI_SECRET_KEY) or, on a local machine, a key generated once under the data directory.
// Decrypted values live only inside activities; they never reach workflow history or logs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { configurationError } from './failures';

export function encryptSecret(plain: string, keyHex: string): string {
  const key = Buffer.from(keyHex, 'hex');
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), data.toString('base64')].join(':');
}

const UNKNOWN_FORMAT = 'encrypted secret has an unknown format';

export function decryptSecret(sealed: string, keyHex: string): string {
  const [version, iv, tag, data] = sealed.split(':');
  if (version !== 'v1' || !iv || !tag || !data) throw new Error(UNKNOWN_FORMAT);
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', Buffer.from(keyHex, 'hex'), Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new Error('cannot decrypt a stored API key: TEDI_SECRET_KEY differs from the key it was stored with');
  }
}

/**
 * A source's stored API key, decrypted for one activity. A key that cannot be decrypted is a
 * ConfigurationError (non-retryable: no retry can change TEDI_SECRET_KEY) that names the source and the
 * two ways out; it never shows the stored or the configured key.
 */
export function decryptStoredKey(sealed: string, keyHex: string, sourceName: string): string {
  try {
    return decryptSecret(sealed, keyHex);
  } catch (err) {
    const why =
      (err as Error).message === UNKNOWN_FORMAT
        ? 'is not in the format `npm run tedi -- set-key` writes'
        : 'cannot be decrypted: TEDI_SECRET_KEY does not match the key it was stored with';
    throw configurationError(
      `Source "${sourceName}": the stored API key (data_source_configs.api_key_encrypted) ${why}. ` +
        'Set TEDI_SECRET_KEY to the key that was in use when it was stored (unset = the key in ' +
        `<TEDI_DATA_DIR>/secret.key), or store the API key again with \`npm run tedi -- set-key ${sourceName}\`.`,
    );
  }
}

/** TEDI_SECRET_KEY, or a key kept in <dataDir>/secret.key (created with mode 0600 on first use). */
export function resolveSecretKey(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = path.resolve(dataDir, 'secret.key');
  if (fs.existsSync(file)) {
    const stored = fs.readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-fA-F]{64}$/.test(stored)) {
      // Named by its shape, never printed: it is the key that protects every stored API key.
      throw new Error(
        `${file} does not hold a 64-hex-character key (it has ${stored.length} characters): restore the file, ` +
          'or set TEDI_SECRET_KEY to the key the API keys were stored with.',
      );
    }
    return stored;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const key = crypto.randomBytes(32).toString('hex');
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
