"""Scrapy settings for the Verity crawler: polite by default.

These are the project-wide defaults; `crawler.runner.job_settings` lays each job's own choices
(robots.txt, delays, concurrency, caps, where to submit) on top of them.
"""

BOT_NAME = "verity"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# The asyncio reactor (Scrapy's default, said aloud): the submission pipeline uses asyncio.
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# Politeness. The job overrides the numbers; these hold when it says nothing.
ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "Verity"  # the token site owners write in robots.txt to address us
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_ENABLED = True
RETRY_TIMES = 2
VERITY_RETRY_BACKOFF = 1.0
DOWNLOAD_TIMEOUT = 30
# A page larger than this is abandoned (a "very large page" of several MB is read whole).
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 8 * 1024 * 1024
COOKIES_ENABLED = False  # we read public pages; cookies would only make crawls less repeatable

# Breadth first: with a page cap, the pages nearest the start (the ones readers see most) win.
DEPTH_LIMIT = 3
DEPTH_PRIORITY = 1
SCHEDULER_DISK_QUEUE = "scrapy.squeues.PickleFifoDiskQueue"
SCHEDULER_MEMORY_QUEUE = "scrapy.squeues.FifoMemoryQueue"

ITEM_PIPELINES = {
    "crawler.pipelines.NormaliseImageUrlPipeline": 100,
    "crawler.pipelines.DeduplicateImagesPipeline": 200,
    "crawler.pipelines.SubmitImagesPipeline": 300,
    "crawler.pipelines.RecordImageStatsPipeline": 900,
}
DOWNLOADER_MIDDLEWARES = {
    # First of all, and again for every redirect and robots.txt: never reach inside the network.
    "crawler.middlewares.AddressGuardMiddleware": 50,
    # After RetryMiddleware (550) has made the retry, before the download starts.
    "crawler.middlewares.RetryBackoffMiddleware": 560,
}
VERITY_EXEMPT_NETWORKS: list[str] = []
EXTENSIONS = {"crawler.progress.ProgressFeed": 500}
# No ports opened by a crawl: Scrapy's telnet console and its remote-control HTTP server (which
# runs Python code sent to it, and writes its token to the home directory) both stay off.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Submission (the job sets VERITY_API_URL; the token only ever comes from the environment).
VERITY_API_URL = None
VERITY_REFERENCE = ""
VERITY_BATCH_SIZE = 50
VERITY_API_RETRIES = 4
VERITY_API_BACKOFF = 1.0

VERITY_PROGRESS_FILE = None
VERITY_PROGRESS_INTERVAL = 1.0

LOG_LEVEL = "INFO"
DEFAULT_DROPITEM_LOG_LEVEL = "DEBUG"
FEED_EXPORT_ENCODING = "utf-8"
