/** `carl data fetch`: the public corpora downloaded into a local cache laid out as plugins/data reads it. See docs/DATA.md. */
export { DataFetchError } from "./data-fetch-error.ts"
export { DATASET_NAMES, DATASETS, downloadsOf, type ArchiveSubset, type DatasetFile, type DatasetSpec, type DownloadedFile } from "./datasets.ts"
export { fetchDataset, fetchDatasets, findDataset, type FetchEvent, type FetchOptions } from "./fetch-dataset.ts"
export { dataCacheDir, dataMirror, DEFAULT_DATA_TIMEOUT_MS, mirroredUrl, type DataCacheOptions } from "./settings.ts"
export { writeTarSubset } from "./tar-subset.ts"
export { dataFetchCommand, dataPathCommand, describeFetchEvent } from "./commands.ts"
