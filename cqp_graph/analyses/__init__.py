"""Stage 4, analyses: what the graph says once it is questioned.

Lives here: network analyses with networkx (`network`), coverage of the referential by a programme
(`coverage`), certification decisions applying the graph's rules (`decisions`), the referential's coverage
report figures (`report`), the register's texts closest to a referential's blocks (`similarity`, a French
TF-IDF). Not here: how results are drawn or written (`cqp_graph.present`).
"""
