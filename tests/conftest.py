import sys
from pathlib import Path

# tests import their helpers as a package
sys.path.insert(0, str(Path(__file__).parent.parent))
