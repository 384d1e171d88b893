import { SignJWT } from 'jose';
import type { Options } from '../../config/options.ts';
import { TallyError } from '../../domain/errors.ts';
import { Hs256SecretSource } from '../../stages/api/auth/hs256-secret-source.ts';
import { SCOPES } from '../../stages/api/auth/principal.ts';

/**
 * `./tally token --sub ID [--scope "likes:write likers:read"] [--ttl SECONDS]`: prints an HS256
 * token signed with --jwt-secret-file, for --jwt-issuer and --jwt-audience. Without --scope it is
 * an end user's token; with one, a service token. JWKS deployments mint tokens at their identity
 * provider instead.
 */
export async function runToken(options: Options, flags: ReadonlyMap<string, string>): Promise<void> {
  const sub = flags.get('sub');
  if (sub === undefined || sub === '') throw new TallyError('invalid_option', 'token needs --sub: the user id, or the name of the service');
  if (options.jwtSecretFile === '' || options.jwtIssuer === '' || options.jwtAudience === '') {
    throw new TallyError('invalid_option', 'token needs --jwt-secret-file, --jwt-issuer and --jwt-audience (the same as the api\'s)');
  }
  const scope = flags.get('scope');
  const unknown = (scope ?? '').split(' ').filter((s) => s !== '' && !(SCOPES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new TallyError('invalid_option', `unknown scope ${unknown.join(', ')}; scopes are ${SCOPES.join(', ')}`);
  const ttl = Number(flags.get('ttl') ?? '3600');
  if (!Number.isSafeInteger(ttl) || ttl < 1) throw new TallyError('invalid_option', `--ttl must be a whole number of seconds, got ${flags.get('ttl') ?? ''}`);
  const secret = await new Hs256SecretSource(options.jwtSecretFile).key();
  const token = await new SignJWT(scope === undefined || scope === '' ? {} : { scope })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(options.jwtIssuer)
    .setAudience(options.jwtAudience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
    .sign(secret);
  process.stdout.write(`${token}\n`);
}
