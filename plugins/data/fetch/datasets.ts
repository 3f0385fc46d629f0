/**
 * Where each corpus the data readers read comes from. Every URL is pinned to a commit (or, for
 * IMDB, to the one release there is), and every file to the size and sha256 of the copy in
 * ../shared/data that its MANIFEST.txt describes, so a fetched cache holds exactly those bytes and
 * the counts in docs/DATA.md hold for it. The layout inside each dataset's folder is the one the
 * readers in plugins/data expect (and ../shared/data has).
 */

/** A file downloaded as published. */
export interface DownloadedFile {
  readonly kind: "download"
  /** Where it goes inside the dataset's folder. */
  readonly path: string
  readonly url: string
  readonly size: number
  readonly sha256: string
}

/**
 * A tar.gz made from some entries of a published tar.gz, when the readers want less than the
 * publisher ships. The published archive is downloaded (and checked) into the dataset's folder
 * under its own name, repacked, and removed once the smaller archive is in place.
 */
export interface ArchiveSubset {
  readonly kind: "archiveSubset"
  readonly path: string
  readonly archive: Omit<DownloadedFile, "kind">
  /** Entry paths (files only) to keep, in the published archive's order. */
  readonly keep: RegExp
  /** How many files `keep` must select: fewer or more means another archive than the pinned one. */
  readonly entries: number
}

export type DatasetFile = DownloadedFile | ArchiveSubset

export interface DatasetSpec {
  readonly name: string
  readonly title: string
  /** As the MANIFEST states it; several sources have none beyond "research use". */
  readonly licence: string
  readonly files: ReadonlyArray<DatasetFile>
}

const GITHUB_RAW = "https://raw.githubusercontent.com"

const download = (path: string, url: string, size: number, sha256: string): DownloadedFile => ({ kind: "download", path, url, size, sha256 })

const EMOBANK = `${GITHUB_RAW}/JULIELab/EmoBank/248ce2a43e165a66d31aeaed83cff9641d6654e0/corpus`
const GOEMOTIONS_MONOLOGG = `${GITHUB_RAW}/monologg/GoEmotions-pytorch/b75f9d3a8b76bc1060687925b04ca98a1b8ea66b/data/original`
const GOEMOTIONS_GOOGLE = `${GITHUB_RAW}/google-research/google-research`
const SST5 = `${GITHUB_RAW}/AcademiaSinicaNLPLab/sentiment_dataset/23c72429de5fb3d2f3da87bf2efb5559c15b78f7/data`
const MR = `${GITHUB_RAW}/yoonkim/CNN_sentence/23e0e1f7355705bb083043fda05c031b15acb38c`
const CR = `${GITHUB_RAW}/leotmc/simcse/e0b62fcef5dadeeef55aef3b640ab219860c201b/SentEval/data/downstream/CR`

export const DATASETS: ReadonlyArray<DatasetSpec> = [
  {
    name: "emobank",
    title: "EmoBank (Buechel & Hahn 2017), reader+writer VA ratings",
    licence: "CC-BY-SA 4.0 (text from MASC and SemEval-2007 Task 14)",
    files: [download("emobank.csv", `${EMOBANK}/emobank.csv`, 1_335_010, "1ade4a4a453e880c0f39d0536d2b355e8a716e0cf88236c64cdb4d438cf9605b")]
  },
  {
    name: "goemotions",
    title: "GoEmotions (Demszky et al. 2020), rater-agreement splits",
    licence: "Apache-2.0 (Reddit comments)",
    files: [
      // monologg's copies are byte-for-byte the split files the MANIFEST verified against google-research's.
      download("train.tsv", `${GOEMOTIONS_MONOLOGG}/train.tsv`, 3_519_053, "1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5"),
      download("dev.tsv", `${GOEMOTIONS_MONOLOGG}/dev.tsv`, 439_059, "575489c079c9de1097062a01738f998590d6b7ead66dd1c9fd1d2ba01fd8bc62"),
      download("test.tsv", `${GOEMOTIONS_MONOLOGG}/test.tsv`, 436_706, "0587b2dd8b27b97352adbfc3fb083d46005c8946657fdc2b1ca8b1cc7f1f8be4"),
      download(
        "emotions.txt",
        `${GOEMOTIONS_GOOGLE}/018cbe7892d848bc871d482fd2868089037e375f/goemotions/data/emotions.txt`,
        248,
        "45c3ef86782d2a4d7fedcd6d8c111aa0d0e94720689bd164fac94fefb4495a89"
      ),
      download(
        "ekman_mapping.json",
        `${GOEMOTIONS_GOOGLE}/7c35f3f048c1bbf1416bf12491e4a2e528f2f988/goemotions/data/ekman_mapping.json`,
        396,
        "d6b1fea382917c1685c42e1324a0344106be9390f52a3850ce032656d103a328"
      )
    ]
  },
  {
    name: "sst5",
    title: "SST-5 (Socher et al. 2013), SentEval's sentence-level splits",
    licence: "none stated (Stanford Sentiment Treebank; research use)",
    files: [
      download("stsa.fine.train", `${SST5}/stsa.fine.train`, 902_818, "9b52b5f686ed438d4d0274c385369251b3d579b578fddd340ba8a9bae2ca4bee"),
      download("stsa.fine.dev", `${SST5}/stsa.fine.dev`, 117_239, "b2f76c62b960f9fda5c6d751edb125abab4f878eb94a8754239b7f4af647f4c3"),
      download("stsa.fine.test", `${SST5}/stsa.fine.test`, 233_634, "0e2ebb450c231f7b3d67fc932066e7bb26ae7bad8c88488f45ed44ef02eb3c73")
    ]
  },
  {
    name: "mr",
    title: "MR, sentence polarity v1.0 (Pang & Lee 2005)",
    licence: "none stated (distributed by Cornell for research; cite Pang & Lee 2005)",
    files: [
      download("rt-polarity.pos", `${MR}/rt-polarity.pos`, 626_139, "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0"),
      download("rt-polarity.neg", `${MR}/rt-polarity.neg`, 612_256, "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca")
    ]
  },
  {
    name: "cr",
    title: "CR, customer reviews (Hu & Liu 2004), SentEval's tokenised copy",
    licence: "none stated (distributed for research; cite Hu & Liu 2004)",
    files: [
      download("senteval_tokenized/custrev.pos", `${CR}/custrev.pos`, 228_014, "91a20a4ffeb5d38a39a4087bb247e16538aff21e7d621ae59738379f39f21732"),
      download("senteval_tokenized/custrev.neg", `${CR}/custrev.neg`, 142_650, "ec94532766f6f962094841ab3bee2ad6f232f996c3756825a91e78bcc294750f")
    ]
  },
  {
    name: "imdb",
    title: "IMDB Large Movie Review Dataset v1.0 (Maas et al. 2011), labelled train/test text",
    licence: "none stated (Stanford AI Lab release for research; cite Maas et al. 2011)",
    files: [
      {
        kind: "archiveSubset",
        path: "aclImdb_train_test_text.tar.gz",
        // Size and sha256 as tensorflow_datasets pins them (datasets/imdb_reviews/checksums.tsv).
        archive: {
          path: "aclImdb_v1.tar.gz",
          url: "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
          size: 84_125_825,
          sha256: "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
        },
        // Without unsup/ (50k unlabelled reviews) and the bag-of-words files: 84 MB becomes 28 MB.
        keep: /^aclImdb\/(?:README|(?:train|test)\/(?:pos|neg)\/\d+_\d+\.txt)$/,
        entries: 50_001
      }
    ]
  }
]

export const DATASET_NAMES: ReadonlyArray<string> = DATASETS.map((dataset) => dataset.name)

/** The downloads a dataset needs: its files, or for a repacked archive the published archive. */
export const downloadsOf = (dataset: DatasetSpec): ReadonlyArray<Omit<DownloadedFile, "kind">> =>
  dataset.files.map((file) => (file.kind === "download" ? file : file.archive))
