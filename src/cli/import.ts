import { validationError } from '../errors.ts';
export async function runImport(_args: string[]): Promise<number> {
  throw validationError([{ path: 'import', message: 'not built yet' }]);
}
