// End-to-end files share one sandbox host: run them in name order (01-…, 02-…).
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export default class ByName extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => a.moduleId.localeCompare(b.moduleId));
  }
}
