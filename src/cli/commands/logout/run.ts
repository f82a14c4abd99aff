import { logout } from '../../../client/index.js';

export async function run(): Promise<void> {
  const was = await logout();
  process.stdout.write(was ? 'Logged out.\n' : 'Not logged in.\n');
}
