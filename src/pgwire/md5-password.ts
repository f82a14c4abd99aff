import { createHash } from 'node:crypto';

/** The answer to AuthenticationMD5Password: 'md5' + md5(md5(password + user) + salt), in hex. */
export function md5PasswordHash(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password, 'utf8').update(user, 'utf8').digest('hex');
  return 'md5' + createHash('md5').update(inner, 'utf8').update(salt).digest('hex');
}
