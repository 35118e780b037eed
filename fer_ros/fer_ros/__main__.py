import sys

from fer_ros.cli import main

sys.exit(main())
