"""Published national statistics (DfE EHC plans release, LAIT, statistical neighbours, NHS community
waits, SEND Tribunal appeal rates) for the "How do we compare?" page.

``loader.load_folder(DIR)`` reads a folder of published files into three tidy tables;
``mart.publish_public(result)`` makes them part of the live mart version (see docs/architecture.md);
``fetch`` downloads the latest DfE releases from the explore-education-statistics API.
"""
