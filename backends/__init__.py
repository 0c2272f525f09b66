"""Process launchers. They start, poll and stop process trees and know nothing about ML."""
