import { validationError } from '../errors.ts';
export async function runExport(_args: string[]): Promise<number> {
  throw validationError([{ path: 'export', message: 'not built yet' }]);
}
